"""NAFNet reading a truncated checkpoint (checkpoints/corrupt_checkpoint-cpu.pt, the first 4 KiB of nafnet's).

Its rows must carry the load error naming the file and the `bench train` command.
"""

from bench.methods.nafnet import Method as NAFNet


class Method(NAFNet):
    name = "corrupt_checkpoint"
