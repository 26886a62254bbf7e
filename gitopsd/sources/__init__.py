"""Turning sources into manifests: repo cache, source detection, directory rendering, renderer client."""
