"""The original's configuration names over the C++ NodeConfig."""
from ._warpgate import NodeConfig

# Public STUN/MQTT/NTP servers, UPnP, nicknames: for real users.
NODE_CONF = NodeConfig.production()
# Nothing leaves the machine: no UPnP, MQTT, NTP, STUN or nickname. For tests and demos.
NODE_TEST_CONF = NodeConfig.test()


def dict_child(overrides, parent):
    """`parent` with `overrides` on top, as the original's dict_child. A NodeConfig parent gives a
    validated NodeConfig (unknown keys and wrong types raise ConfigError); a dict gives a dict."""
    if isinstance(parent, NodeConfig):
        return parent.child(dict(overrides))
    return {**parent, **overrides}


def as_config(conf):
    """A NodeConfig from a NodeConfig or a dict of fields over NODE_CONF."""
    return conf if isinstance(conf, NodeConfig) else NODE_CONF.child(dict(conf))
