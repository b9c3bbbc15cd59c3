"""Air-gapped import: push a verified bundle's images and charts into the customer's registry."""
