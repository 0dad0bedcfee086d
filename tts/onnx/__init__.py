"""Sori on ONNX Runtime: the voice's networks exported to ONNX (`tts.onnx.export`, needs torch) and
a synthesizer that runs them with numpy alone (`tts.onnx.synthesizer`), for small machines.

Files: `section` (the `onnx` section of a voice's config.json), `dropout` (the seeded pre-net
masks in numpy), `decode` (the decoder loop over ONNX Runtime sessions), `griffin_lim` (Griffin-Lim
in numpy), `synthesizer` (the torch-free `OnnxSynthesizer`), `export` (torch -> ONNX, checked).
Nothing here is imported with `tts`: import the submodule you need.
"""
