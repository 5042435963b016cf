"""The Miru platform in a box. Product code reaches it only over HTTP through the SDK."""
