"""GAN training throughput: ``adl_keras.gan.GAN.fit`` vs a plain GradientTape loop.

Anchor: the DCGAN training step written directly with ``tf.GradientTape`` in a
``tf.function`` and driven by a Python loop over a ``tf.data`` dataset, as the
keras.io "GAN from scratch" guide does. Both sides use the same generator and
discriminator builders (``dcgan_generator(32)``, ``dcgan_discriminator()``), the
same batch (64), the same losses (non-saturating, logits) and Adam settings,
and the same tf.data pipeline; they are timed alternately in one process.

The headline uses the project's fit with ``steps_per_execution`` equal to the
steps of one pass (the setting of the zoo recipes); fit with the default
``steps_per_execution=1`` is reported in ``details``.

Run: ``python -m benchmarks.bench_gan_train_throughput``
"""

import statistics
import time

import numpy as np

from benchmarks._common import median_time, write_result

BATCH = 64
LATENT = 32
STEPS = 64          # steps per timed run
ROUNDS = 7          # alternating rounds; each times every variant once, in a rotating order


def _dataset(images):
    import tensorflow as tf

    reps = int(np.ceil(STEPS * BATCH / len(images)))
    return tf.data.Dataset.from_tensor_slices(np.concatenate([images] * reps)[:STEPS * BATCH]) \
        .batch(BATCH, drop_remainder=True).cache().prefetch(tf.data.AUTOTUNE)


def _players():
    import keras

    from adl_keras.gan import dcgan_discriminator, dcgan_generator

    keras.utils.set_random_seed(0)
    return dcgan_generator(LATENT), dcgan_discriminator()


def _adam():
    import keras

    return keras.optimizers.Adam(2e-4, beta_1=0.5)


def project_runner(ds, steps_per_execution):
    from adl_keras.gan import GAN

    gan = GAN(*_players(), d_steps=1)
    gan.compile(d_optimizer=_adam(), g_optimizer=_adam(), loss="non_saturating",
                steps_per_execution=steps_per_execution)
    return lambda: gan.fit(ds, epochs=1, verbose=0, shuffle=False)


def anchor_runner(ds):
    import keras
    import tensorflow as tf

    generator, discriminator = _players()
    d_opt, g_opt = _adam(), _adam()
    bce = keras.losses.BinaryCrossentropy(from_logits=True)

    @tf.function
    def train_step(real):
        batch = tf.shape(real)[0]
        z = tf.random.normal((batch, LATENT))
        fake = generator(z, training=True)
        with tf.GradientTape() as tape:
            real_logits = discriminator(real, training=True)
            fake_logits = discriminator(fake, training=True)
            d_loss = bce(tf.ones_like(real_logits), real_logits) + bce(tf.zeros_like(fake_logits), fake_logits)
        grads = tape.gradient(d_loss, discriminator.trainable_weights)
        d_opt.apply_gradients(zip(grads, discriminator.trainable_weights))
        z = tf.random.normal((batch, LATENT))
        with tf.GradientTape() as tape:
            fake_logits = discriminator(generator(z, training=True), training=True)
            g_loss = bce(tf.ones_like(fake_logits), fake_logits)
        grads = tape.gradient(g_loss, generator.trainable_weights)
        g_opt.apply_gradients(zip(grads, generator.trainable_weights))
        return d_loss, g_loss

    def run():
        for real in ds:
            d_loss, g_loss = train_step(real)
        float(g_loss)  # wait for the last step

    return run


def main():
    from adl_keras import data

    ds = _dataset(data.load("digits").train[0])
    runners = {
        "fit_spe": project_runner(ds, STEPS),
        "fit_spe1": project_runner(ds, 1),
        "anchor": anchor_runner(ds),
    }
    for run in runners.values():  # trace and warm up
        run()
    times = {k: [] for k in runners}
    cpu = {k: [] for k in runners}
    keys = list(runners)
    for r in range(ROUNDS):
        for key in keys[r % 3:] + keys[:r % 3]:
            cpu_start = time.process_time()
            times[key].append(median_time(runners[key], repeats=1, warmup=0)[0])
            cpu[key].append(time.process_time() - cpu_start)
    rate = {k: STEPS / statistics.median(v) for k, v in times.items()}
    cpu_rate = {k: STEPS / statistics.median(v) for k, v in cpu.items()}
    write_result(
        "gan_train_throughput", "training steps per second (one D step + one G step, batch 64)", "steps/s",
        rate["fit_spe"], "GradientTape loop in tf.function (keras.io DCGAN from scratch)", rate["anchor"],
        goal=1.0, higher_is_better=True, repeats=ROUNDS,
        extra={"steps_per_run": STEPS, "batch_size": BATCH, "steps_per_execution": STEPS,
               "fit_steps_per_execution_1_steps_per_s": rate["fit_spe1"],
               "ratio_steps_per_execution_1": rate["fit_spe1"] / rate["anchor"],
               "seconds_per_run": {k: [round(t, 4) for t in v] for k, v in times.items()},
               # CPU seconds of the process (all threads): less sensitive to other jobs on a shared box
               "cpu_steps_per_s": cpu_rate,
               "cpu_ratio": cpu_rate["fit_spe"] / cpu_rate["anchor"],
               "cpu_ratio_steps_per_execution_1": cpu_rate["fit_spe1"] / cpu_rate["anchor"]},
    )


if __name__ == "__main__":
    main()
