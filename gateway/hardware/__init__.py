"""Pin backends: one interface, one file per implementation, chosen explicitly by config."""
