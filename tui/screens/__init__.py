"""Modal screens of the app: help, write confirmation, scale and affinity dialogs, and the curl
loops' questions (a value: ``ask``; a client pod: ``pick``). Each loads when first opened."""
