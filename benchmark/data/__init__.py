"""Data: dataset manifests, the dataset registry and its loaders, audio and image I/O, the held-out rule, the
human clip labels and content fingerprints (the first stage of the data flow: nothing here imports a later one)."""
