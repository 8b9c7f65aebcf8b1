#!/bin/bash
#    Licensed under the Apache License, Version 2.0 (the "License"); you may
#    not use this file except in compliance with the License. You may obtain
#    a copy of the License at
#
#         http://www.apache.org/licenses/LICENSE-2.0
#
#    Unless required by applicable law or agreed to in writing, software
#    distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
#    WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
#    License for the specific language governing permissions and limitations
#    under the License.
#
# devstack plugin for nova-rescue-lm: live migration of servers in RESCUE
# state at compute API microversion 2.105, and their evacuation at 2.106
# (nova 34.0.0).
#
# What it does, by phase (see doc/source/contributor/devstack.rst):
#   stack install      regular (not editable) pip install of the package into
#                      nova's environment, after making nova itself a
#                      regular install (devstack installs nova editable)
#   stack post-config  compute_driver = rescue_lm.libvirt.LibvirtDriver for
#                      libvirt computes; the three api-paste.ini factories
#   stack extra        checks that nova-compute got the driver; prints
#                      nova-rescue-lm-status upgrade check
#   clean              pip uninstall

# Save trace setting
_XTRACE_NOVA_RESCUE_LM=$(set +o | grep xtrace)
set -o xtrace

NOVA_RESCUE_LM_DRIVER=rescue_lm.libvirt.LibvirtDriver

# The Python that runs nova (devstack's global virtualenv, or the system's).
function nova_rescue_lm_python {
    if [[ "${GLOBAL_VENV}" == "True" && -x ${DEVSTACK_VENV}/bin/python ]]; then
        echo "${DEVSTACK_VENV}/bin/python"
    else
        echo "python${PYTHON3_VERSION}"
    fi
}

function install_nova_rescue_lm {
    local py release nova_file
    py=$(nova_rescue_lm_python)

    release=$($py -c 'from importlib import metadata; print(metadata.version("nova"))') || \
        die $LINENO "nova-rescue-lm: nova is not installed in the environment of $py"
    # The package checks nova's internals by shape when nova starts; a
    # nova of another series can only switch the feature off, so say so
    # here, where the deployer reads it.
    if [[ "${release%%.*}" != "$NOVA_RESCUE_LM_NOVA_SERIES" ]]; then
        die $LINENO "nova-rescue-lm is made for nova $NOVA_RESCUE_LM_NOVA_SERIES.x (2026.2)," \
            "devstack installed nova $release: use the stable/2026.2 branch of nova"
    fi

    # devstack installs nova editable (setup_develop). The package adds a
    # nova/virt/rescue_lm/ directory to site-packages; next to an editable
    # nova that directory would be imported as the whole "nova" package and
    # nova would stop working. Make nova a regular install first.
    nova_file=$($py -c 'import nova; print(nova.__file__)')
    if [[ "$nova_file" == "$NOVA_DIR"/* ]]; then
        echo "nova-rescue-lm: reinstalling nova from $NOVA_DIR as a regular install"
        setup_install "$NOVA_DIR"
    fi

    # Regular install (no -e): only that puts the driver shim next to nova.
    setup_install "$NOVA_RESCUE_LM_DIR"

    $py - <<'PYEOF' || die $LINENO "nova-rescue-lm: the driver shim is not next to nova's code"
import os
import nova
import nova.virt.rescue_lm as shim
nova_dir = os.path.dirname(nova.__file__)
shim_dir = os.path.dirname(os.path.dirname(os.path.dirname(shim.__file__)))
print('nova: %s, shim: %s' % (nova_dir, shim.__file__))
raise SystemExit(0 if nova_dir == shim_dir else 1)
PYEOF
}

function configure_nova_rescue_lm {
    if [[ "$NOVA_RESCUE_LM_ENABLE" != "True" ]]; then
        return
    fi
    if is_service_enabled n-cpu && [[ "$VIRT_DRIVER" == "libvirt" ]]; then
        # devstack's start_nova_compute rebuilds $NOVA_CPU_CONF by copying
        # $NOVA_CONF (then merging local.conf's post-config for it), so the
        # driver is set in $NOVA_CONF; only nova-compute reads it. An
        # existing $NOVA_CPU_CONF is updated too.
        local conf
        for conf in "$NOVA_CONF" "$NOVA_CPU_CONF"; do
            if [[ "$conf" == "$NOVA_CONF" || -f "$conf" ]]; then
                iniset "$conf" DEFAULT compute_driver "$NOVA_RESCUE_LM_DRIVER"
                iniset "$conf" rescue_lm live_migrate_rescued "$NOVA_RESCUE_LM_LIVE_MIGRATE_RESCUED"
            fi
        done
    fi
    if is_service_enabled n-api; then
        iniset "$NOVA_API_PASTE_INI" app:osapi_compute_app_v21 paste.app_factory \
            nova_rescue_lm.api:APIRouterV21.factory
        iniset "$NOVA_API_PASTE_INI" app:oscomputeversionapp paste.app_factory \
            nova_rescue_lm.api:Versions.factory
        iniset "$NOVA_API_PASTE_INI" app:oscomputeversionapp_v2 paste.app_factory \
            nova_rescue_lm.api:VersionsV2.factory
    fi
}

function check_nova_rescue_lm {
    if [[ "$NOVA_RESCUE_LM_ENABLE" != "True" ]]; then
        return
    fi
    if is_service_enabled n-cpu && [[ "$VIRT_DRIVER" == "libvirt" ]]; then
        local driver
        driver=$(iniget "$NOVA_CPU_CONF" DEFAULT compute_driver)
        if [[ "$driver" != "$NOVA_RESCUE_LM_DRIVER" ]]; then
            die $LINENO "nova-rescue-lm: $NOVA_CPU_CONF has compute_driver=$driver," \
                "expected $NOVA_RESCUE_LM_DRIVER (a local.conf post-config section overrides it?)"
        fi
    fi
    if is_service_enabled n-api; then
        # Informational: warnings are expected while computes register.
        local status_cmd
        status_cmd="$(dirname "$(nova_rescue_lm_python)")/nova-rescue-lm-status"
        if [[ ! -x "$status_cmd" ]]; then
            status_cmd=nova-rescue-lm-status
        fi
        "$status_cmd" --config-file "$NOVA_CONF" upgrade check || \
            echo "nova-rescue-lm: upgrade check reported warnings or failures (above)"
    fi
}

if [[ "$1" == "stack" && "$2" == "install" ]]; then
    echo_summary "Installing nova-rescue-lm"
    install_nova_rescue_lm
elif [[ "$1" == "stack" && "$2" == "post-config" ]]; then
    echo_summary "Configuring nova-rescue-lm"
    configure_nova_rescue_lm
elif [[ "$1" == "stack" && "$2" == "extra" ]]; then
    echo_summary "Checking nova-rescue-lm"
    check_nova_rescue_lm
elif [[ "$1" == "stack" && "$2" == "test-config" ]]; then
    # The tempest plugin's tests run only where the feature is enabled.
    if is_service_enabled tempest && [[ "$NOVA_RESCUE_LM_ENABLE" == "True" ]]; then
        iniset "$TEMPEST_CONFIG" rescue_lm live_migrate_rescued True
    fi
fi

if [[ "$1" == "clean" ]]; then
    pip_uninstall nova-rescue-lm
fi

# Restore xtrace
$_XTRACE_NOVA_RESCUE_LM
