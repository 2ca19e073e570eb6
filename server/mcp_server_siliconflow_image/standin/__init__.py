"""The offline stand-in SiliconFlow provider: the test suite's provider and the `stand-in` and `demo` commands.

pictures: the images it serves; state: what it is told and remembers (faults included); provider: its HTTP
API; serving: running it with uvicorn.
"""

from mcp_server_siliconflow_image.standin.pictures import noise_png, render_image
from mcp_server_siliconflow_image.standin.serving import RunningStandIn, running_standin, serve_standin
from mcp_server_siliconflow_image.standin.state import Fault, StandInState

__all__ = [
    "Fault",
    "RunningStandIn",
    "StandInState",
    "noise_png",
    "render_image",
    "running_standin",
    "serve_standin",
]
