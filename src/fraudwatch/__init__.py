"""fraudwatch: real-time fraud detection and response for card payments and e-commerce accounts."""

__version__ = "0.1.0"
ENGINE_VERSION = __version__
