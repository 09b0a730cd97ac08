# Copyright (c) 2026, kubebin maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action of kubebin.cluster.preflight: check the inventory and every role's settings on the controller.

The values are those the roles will see: each role's defaults, overridden by the inventory and
extra vars of each host, templated here the way Ansible templates them. No host is contacted.
"""

from __future__ import annotations

import os

from ansible.errors import AnsibleError, AnsibleUndefinedVariable
from ansible.plugins.action import ActionBase
from ansible.template import trust_as_template

from ansible_collections.kubebin.cluster.plugins.module_utils import preflight, preflight_spec
from ansible_collections.kubebin.cluster.plugins.plugin_utils import preflight_vars

# The collection's roles, next to its plugins.
ROLES_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "roles")


class ActionModule(ActionBase):
    """Fail, listing every problem at once, when the inventory or a role setting is not valid."""

    TRANSFERS_FILES = False
    _requires_connection = False
    _VALID_ARGS = frozenset()

    def _load(self, path):
        if not os.path.isfile(path):
            return {}
        return self._loader.load_from_file(path, cache="none", trusted_as_template=True) or {}

    def _roles(self):
        """{role: {"options": {...}, "defaults": {...}, "vars": {...}}} of every role of the collection."""
        roles = {}
        for role in sorted(os.listdir(ROLES_DIR)):
            base = os.path.join(ROLES_DIR, role)
            specs = self._load(os.path.join(base, "meta", "argument_specs.yml")).get("argument_specs")
            roles[role] = {
                "options": preflight_spec.merged_options(specs),
                "defaults": self._load(os.path.join(base, "defaults", "main.yml")),
                "vars": self._load(os.path.join(base, "vars", "main.yml")),
            }
        return roles

    @staticmethod
    def _env(raw, roles, common):
        """The variables a role sees on a host: role defaults, then the host's RAW variables, then role vars."""
        env = {}
        for info in roles.values():
            env.update(info["defaults"])
        env.update(raw)
        for info in roles.values():
            for key, value in info["vars"].items():
                env.setdefault(key, value)
        env.update(common)
        return env

    def _evaluate(self, env, names):
        """Every variable in NAMES templated in ENV; None when unset, Unknown when not knowable here."""
        templar = self._templar.copy_with_new_env(available_variables=env)
        values = {}
        for name in names:
            if name not in env:
                values[name] = None
            elif preflight_vars.is_plain(env[name]):
                values[name] = env[name]
            else:
                try:
                    values[name] = templar.template(trust_as_template("{{ %s }}" % name))
                except AnsibleUndefinedVariable as exc:
                    values[name] = preflight_spec.Unknown(str(exc))
                except AnsibleError as exc:
                    values[name] = preflight_spec.Unknown("could not be evaluated: %s" % exc)
        return values

    def _values_by_host(self, raw_by_host, roles, common, names):
        """Each host's values; settings that cannot differ between hosts are templated once."""
        hosts = list(raw_by_host)
        if not hosts:
            return {}
        first_env = self._env(raw_by_host[hosts[0]], roles, common)
        first = self._evaluate(first_env, names)
        per_host = sorted(preflight_vars.host_dependent(names, first_env, preflight_vars.varying_names(raw_by_host)))
        values_by_host = {hosts[0]: first}
        for host in hosts[1:]:
            values = dict(first)
            values.update(self._evaluate(self._env(raw_by_host[host], roles, common), per_host))
            values_by_host[host] = values
        return values_by_host

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        hostvars = task_vars["hostvars"]
        groups = task_vars["groups"]
        roles = self._roles()
        specs = {}
        for info in roles.values():
            specs.update(info["options"])
        names = sorted(set(specs) | set(preflight.EXTRA_VARIABLES))
        cluster_hosts = preflight.cluster_host_names(groups)
        common = {"hostvars": hostvars, "groups": groups}
        raw_by_host = {host: dict(hostvars.raw_get(host)) for host in cluster_hosts}
        explicit_by_host = {host: set(raw) for host, raw in raw_by_host.items()}
        values_by_host = self._values_by_host(raw_by_host, roles, common, names)
        prefixes = ["kubebin_"] + ["%s_" % role for role, info in roles.items() if info["options"]]
        errors = preflight.all_errors(groups, values_by_host, explicit_by_host, specs, prefixes)
        result["problems"] = errors
        result["checked_hosts"] = len(cluster_hosts)
        result["checked_settings"] = len(specs)
        if errors:
            result["failed"] = True
            result["msg"] = "Preflight found %d problem(s) in the inventory or variables, nothing was changed on any host: %s" % (
                len(errors),
                " ".join("[%d] %s%s" % (index, error, "" if error.endswith(("?", ".")) else ".") for index, error in enumerate(errors, 1)),
            )
        else:
            result["msg"] = "%d hosts and %d settings checked" % (len(cluster_hosts), len(specs))
        return result
