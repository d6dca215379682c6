# Copyright (c) mmtde contributors. All rights reserved.
"""Data generators and readers that need no host library (numpy, OpenCV, Pillow only)."""
