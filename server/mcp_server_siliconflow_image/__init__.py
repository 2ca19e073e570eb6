"""An MCP server for SiliconFlow image generation that hands back the images themselves.

Provider URLs expire after an hour, so every image is downloaded and saved the moment it is
generated, then returned as inline image data, a saved file and a readable MCP resource.
"""

__version__ = "0.1.0"
