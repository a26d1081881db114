"""An independent MCP client for the tests: the official Python SDK (PyPI `mcp`) connects to coach-plans over stdio
(starting the given command) or streamable HTTP (the given URL), initializes, lists the tools, resources and resource
templates, calls the tools and reads the resources a JSON plan names, and prints what it saw as one JSON document.

    python mcp_client.py PLAN.json stdio COMMAND [ARG...]
    python mcp_client.py PLAN.json http URL

PLAN.json: {"calls": [{"tool": NAME, "arguments": {...}}, ...], "reads": [URI, ...]}
"""

import asyncio
import base64
import hashlib
import json
import sys

from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client


def dump(model):
    """A pydantic model as plain JSON data (by the protocol's field names)."""
    return model.model_dump(mode="json", by_alias=True, exclude_none=True)


def image(block):
    """An image content block as its type, size and SHA-256 (the decoded bytes themselves would bloat the report)."""
    data = base64.b64decode(block["data"], validate=True)
    return {"mime_type": block["mimeType"], "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}


async def exercise(read, write, plan):
    report = {}
    async with ClientSession(read, write) as session:
        init = await session.initialize()
        report["server"] = dump(init.server_info)
        report["instructions"] = init.instructions
        report["protocol_version"] = init.protocol_version
        tools = await session.list_tools()
        report["tools"] = {tool.name: dump(tool) for tool in tools.tools}
        resources = await session.list_resources()
        report["resources"] = [dump(r) for r in resources.resources]
        templates = await session.list_resource_templates()
        report["templates"] = [dump(t) for t in templates.resource_templates]
        calls = []
        for call in plan.get("calls", []):
            try:
                result = await session.call_tool(call["tool"], call.get("arguments") or {})
            except Exception as error:  # a refused request (not a tool error) is part of what a test may check
                calls.append({"tool": call["tool"], "refused": str(error)})
                continue
            content = [dump(block) for block in result.content]
            calls.append(
                {
                    "tool": call["tool"],
                    "is_error": bool(result.is_error),
                    "text": "\n".join(block["text"] for block in content if block.get("type") == "text"),
                    "images": [image(block) for block in content if block.get("type") == "image"],
                    "structured": result.structured_content,
                }
            )
        report["calls"] = calls
        reads = []
        for uri in plan.get("reads", []):
            try:
                result = await session.read_resource(uri)
                reads.append({"uri": uri, "contents": [dump(c) for c in result.contents]})
            except Exception as error:  # a refused read is part of what the test checks
                reads.append({"uri": uri, "error": str(error)})
        report["reads"] = reads
    return report


async def main():
    plan_path, transport, target = sys.argv[1], sys.argv[2], sys.argv[3:]
    with open(plan_path, encoding="utf-8") as file:
        plan = json.load(file)
    if transport == "stdio":
        params = StdioServerParameters(command=target[0], args=target[1:])
        async with stdio_client(params) as (read, write):
            report = await exercise(read, write, plan)
    elif transport == "http":
        async with streamable_http_client(target[0]) as streams:
            report = await exercise(streams[0], streams[1], plan)
    else:
        raise SystemExit(f"unknown transport {transport!r}: use stdio or http")
    json.dump(report, sys.stdout)


if __name__ == "__main__":
    asyncio.run(main())
