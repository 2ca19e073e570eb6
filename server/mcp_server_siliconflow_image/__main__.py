"""`python -m mcp_server_siliconflow_image` behaves exactly like the console script."""

from mcp_server_siliconflow_image.cli import main

if __name__ == "__main__":
    main()
