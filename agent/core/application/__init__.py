"""Applications: the spec, and the decision for manifest and Helm applications."""
