"""Test stand-in for AUTOMATIC1111/Forge's ``modules`` package (only what the extension touches)."""
