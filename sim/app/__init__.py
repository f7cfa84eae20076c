"""What people use: the ``klad`` command line and the classroom demo."""
