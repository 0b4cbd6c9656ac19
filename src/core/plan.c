/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/plan.h"
#include "shared/macro.h"
#include "shared/strv.h"

static const char *const net_mode_table[_NET_MODE_MAX] = {
    [NET_NONE] = "none",
    [NET_PROXY] = "proxy",
    [NET_FILTERED] = "filtered",
};

const char *net_mode_to_string(NetMode m)
{
	if ((unsigned) m >= _NET_MODE_MAX)
		return NULL;
	return net_mode_table[m];
}

int net_mode_from_string(const char *s)
{
	if (!s)
		return -EINVAL;
	for (int i = 0; i < _NET_MODE_MAX; i++)
		if (streq(s, net_mode_table[i]))
			return i;
	return -EINVAL;
}

/* In bit order; the names [sandbox] degrade accepts. */
static const char *const degrade_table[] = {
    "memory", "cpu", "pids", "cgroup", "egress-bpf", "landlock", "budget",
};
_Static_assert((1u << ARRAY_SIZE(degrade_table)) - 1u == DEGRADE_ALL, "degrade_table must name every Degrade bit");

const char *degrade_to_string(Degrade d)
{
	for (size_t i = 0; i < ARRAY_SIZE(degrade_table); i++)
		if ((unsigned) d == 1u << i)
			return degrade_table[i];
	return NULL;
}

int degrade_from_string(const char *s)
{
	if (!s)
		return -EINVAL;
	for (size_t i = 0; i < ARRAY_SIZE(degrade_table); i++)
		if (streq(s, degrade_table[i]))
			return (int) (1u << i);
	return -EINVAL;
}

static void mount_spec_done(MountSpec *m)
{
	free(m->source);
	free(m->dest);
	free(m->origin);
}

static void tool_spec_done(ToolSpec *t)
{
	free(t->name);
	free(t->description);
	free(t->command);
	strv_free(t->secrets);
	free(t->args);
	free(t->rule);
	free(t->approve);
	free(t->rate);
	for (size_t i = 0; i < _TOOL_FIELD_MAX; i++)
		free(t->origins[i]);
	strv_free(t->secrets_origins);
}

void plan_free(Plan *p)
{
	if (!p)
		return;
	free(p->profile_name);
	free(p->profile_path);
	free(p->description);
	free(p->tenant);
	free(p->project);
	free(p->user);
	free(p->workdir);
	for (size_t i = 0; i < p->n_mounts; i++)
		mount_spec_done(&p->mounts[i]);
	free(p->mounts);
	strv_free(p->env_keep);
	strv_free(p->env_set);
	strv_free(p->allow);
	strv_free(p->seccomp_deny);
	strv_free(p->seccomp_allow);
	free(p->hostname);
	for (size_t i = 0; i < p->n_tools; i++)
		tool_spec_done(&p->tools[i]);
	free(p->tools);
	strv_free(p->argv);
	for (size_t i = 0; i < _PLAN_FIELD_MAX; i++)
		free(p->origins[i]);
	strv_free(p->env_keep_origins);
	strv_free(p->env_set_origins);
	strv_free(p->allow_origins);
	strv_free(p->seccomp_deny_origins);
	strv_free(p->seccomp_allow_origins);
	free(p);
}
