"""Modal screens of the app: help, write confirmation, scale and affinity dialogs."""
