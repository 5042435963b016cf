"""The only package that talks to the Miru platform (through the official SDK)."""
