"""Training learned methods: every learned plugin trains the same way (``bench train METHOD preset=cpu|gpu``).

- :mod:`bench.learn.sampler`: training pairs from the training images, degraded by random PSFs and noise;
- :mod:`bench.learn.loop`: the optimisation loop (Adam, cosine schedule, validation) and its CSV log;
- :mod:`bench.learn.scores`: the validation figures (mean PSNR, mean PSF-SNR);
- :mod:`bench.learn.recipe`: the steps a recipe takes from its configuration (``bench/conf/train/``);
- :mod:`bench.learn.checkpoints`: the checkpoint format, its writer and its checked loader;
- :mod:`bench.learn.inputs`: the per-image standardisation networks read their input through.

The recipes themselves (losses, stages) live next to the networks they train,
in the plugins' helper modules (``methods/_deepblur.py``, ``methods/_spectral_id.py``,
``methods/_restoration.py``).
"""
