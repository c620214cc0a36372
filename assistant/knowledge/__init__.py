"""The knowledge base: entries (one YAML file each) and how a question finds them."""
