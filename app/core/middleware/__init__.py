"""The core's middleware chain, one stage a module, in the seed's order."""
