"""One router per capability; route bodies only call services."""
