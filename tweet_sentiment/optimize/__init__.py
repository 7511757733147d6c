"""From trained weights to a served runtime: tracing, export and quantization, and the choice among
candidate runtimes.
"""
