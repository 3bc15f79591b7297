"""Tools beside the generator: the command line, the local stack, the demo service and the
cost report."""
