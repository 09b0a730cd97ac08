# Copyright (c) kubebin.cluster contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Filters for the container images of the offline bundle (manifest.json ``images``).

They only read names from the manifest on the controller; the archives' SHA-256 is proven by
the artifact module before any archive leaves the controller.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.kubebin.cluster.plugins.module_utils import bundle_manifest


def _filter_error(func):
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except (bundle_manifest.ManifestError, ValueError, KeyError, TypeError) as exc:
            raise AnsibleFilterError("%s: %s" % (func.__name__, exc)) from None
    wrapper.__name__ = func.__name__
    wrapper.__doc__ = func.__doc__
    return wrapper


@_filter_error
def bundle_images(bundle_dir, cache_dir=None):
    """The bundle's image entries (validated), [] for an empty bundle_dir."""
    if not bundle_dir:
        return []
    return bundle_manifest.parse_images(bundle_manifest.read_manifest(str(bundle_dir), cache_dir and str(cache_dir)))


@_filter_error
def bundle_image(images, purpose, arch=None, name=None):
    """Name of the image with this purpose (for arch, of repository name, when given), '' when there is none."""
    if purpose not in bundle_manifest.PURPOSES:
        raise ValueError("purpose must be one of %s" % ", ".join(bundle_manifest.PURPOSES))
    return bundle_manifest.image_for(images, purpose, arch, name)


@_filter_error
def bundle_images_plan(wanted, arches):
    """Manifest entries (name, arch, file, purpose, source) for saving images into a bundle."""
    return bundle_manifest.images_plan(wanted, arches)


@_filter_error
def host_images(images, arch, directory):
    """The images a host of arch imports, each with ``dest`` (archive path on the host)."""
    return bundle_manifest.host_images(images, arch, directory)


@_filter_error
def missing_images(images, listed):
    """The images whose name is not in ``ctr images ls -q`` output lines."""
    return bundle_manifest.missing_images(images, listed)


class FilterModule:
    """kubebin bundle image filters."""

    def filters(self):
        return {
            "bundle_images": bundle_images,
            "bundle_image": bundle_image,
            "bundle_images_plan": bundle_images_plan,
            "host_images": host_images,
            "missing_images": missing_images,
        }
