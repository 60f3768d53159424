"""GAN topic: the minimax game as a ``keras.Model``, GAN losses, DCGAN and
WGAN-GP builders, digits-FID and class-coverage metrics.

Example:
    >>> from adl_keras import gan
    >>> model = gan.GAN(gan.dcgan_generator(32), gan.dcgan_discriminator())
    >>> model.compile(loss="non_saturating")
"""

from adl_keras.gan import losses
from adl_keras.gan.builders import (
    MinibatchStdDev,
    conditional_dcgan_discriminator,
    conditional_dcgan_generator,
    dcgan_discriminator,
    dcgan_generator,
    wgan_gp_critic,
)
from adl_keras.gan.model import GAN

__all__ = [
    "GAN",
    "MinibatchStdDev",
    "conditional_dcgan_discriminator",
    "conditional_dcgan_generator",
    "dcgan_discriminator",
    "dcgan_generator",
    "losses",
    "wgan_gp_critic",
]
