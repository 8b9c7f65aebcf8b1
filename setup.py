# The nova.virt.rescue_lm shim must be installed into nova's own package
# directory without shipping nova/__init__.py or nova/virt/__init__.py, which
# belong to nova.  pbr's [files] packages cannot express that, so the package
# list is given here as namespace packages (see doc/source/install.rst).
import setuptools

setuptools.setup(
    setup_requires=['pbr>=6.0.0'],
    pbr=True,
    packages=setuptools.find_namespace_packages(
        include=['nova_rescue_lm', 'nova_rescue_lm.*',
                 'nova.virt.rescue_lm', 'nova.virt.rescue_lm.*']),
)
