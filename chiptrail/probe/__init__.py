"""chiptrail.probe: see STYLE.md section 1 for what this package owns."""
