"""What is imaged: the image pool and the phantom renderers of the synthetic datasets.

- :mod:`bench.scenes.images`: the 2D images (scikit-image's test images and phantoms), split train/test;
- :mod:`bench.scenes.volumes`: the 3D phantoms (beads, filaments, nuclei) of the volume datasets.
"""
