/*
 * checkpoint_cfg — the checkpoint and hand-over rows of config_keys[] (config.c), parsed in
 * checkpoint_cfg.c. Each checks its value, stores it in cfg, or returns -errno with why set.
 */
#ifndef SOCKSHIFT_CHECKPOINT_CFG_H
#define SOCKSHIFT_CHECKPOINT_CFG_H

#include <stddef.h>

struct config;

int checkpoint_cfg_signal(struct config *cfg, const char *value, char *why, size_t whylen);
int checkpoint_cfg_images(struct config *cfg, const char *value, char *why, size_t whylen);
int checkpoint_cfg_on_dump(struct config *cfg, const char *value, char *why, size_t whylen);
int checkpoint_cfg_restore(struct config *cfg, const char *value, char *why, size_t whylen);
int checkpoint_cfg_grace(struct config *cfg, const char *value, char *why, size_t whylen);
int checkpoint_cfg_strict(struct config *cfg, const char *value, char *why, size_t whylen);

#endif
