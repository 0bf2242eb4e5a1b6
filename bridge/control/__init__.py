"""Control: an operator's relay command, authorised and audited, to a gateway and back."""
