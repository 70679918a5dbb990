"""Running a transparency-log witness (C2SP tlog-witness): its state file and HTTP endpoint."""
