"""Test stand-in for ComfyUI's ``comfy`` package: only the parts the Civitai nodes call (utils, sd,
model_management), with ComfyUI 0.8's names and signatures."""
