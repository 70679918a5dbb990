"""Who may see and change what: the one place deciding a party's reach over chips, findings."""
