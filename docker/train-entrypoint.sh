#!/usr/bin/env bash
# Entry point of the training image: clone, pull, `dvc exp run`, push.
#
#   train-entrypoint [dvc exp run args...]     e.g.  -S lr=3e-5 -S epochs=3
#
# Environment:
#   REPO_URL    git URL of this repository (required); credentials, if any, in the URL or a helper
#   GIT_REF     branch, tag or commit to run (default: main)
#   EXP_NAME    name of the experiment (default: train-<UTC time>)
#   GIT_REMOTE  remote the experiment's refs go to (default: origin, i.e. REPO_URL)
#   PUSH        0: run without pushing (default 1)
#   CLUSTER_SPEC  set by Vertex AI: with several replicas, workerpool0 runs the experiment and
#                 the other replicas join its torchrun rendezvous as extra training nodes
set -euo pipefail
log() { printf '[train-entrypoint %(%H:%M:%S)T] %s\n' -1 "$*"; }
die() { log "ERROR: $*" >&2; exit 1; }

[[ -n "${REPO_URL:-}" ]] || die "set REPO_URL to the git URL of the repository to train"
GIT_REF="${GIT_REF:-main}"
EXP_NAME="${EXP_NAME:-train-$(date -u +%Y%m%d-%H%M%S)}"
GIT_REMOTE="${GIT_REMOTE:-origin}"

log "cloning ${REPO_URL//\/\/*@/\/\/***@} at $GIT_REF"   # credentials in the URL stay out of the log
git clone --quiet "$REPO_URL" repo
cd repo
git checkout --quiet "$GIT_REF"
git config user.name >/dev/null || git config user.name "${GIT_USER_NAME:-training-image}"
git config user.email >/dev/null || git config user.email "${GIT_USER_EMAIL:-training-image@example.invalid}"
log "at commit $(git rev-parse HEAD)"

if [[ -n "${CLUSTER_SPEC:-}" ]]; then
  # PET_* variables: torchrun's rendezvous across Vertex AI's replicas (none for one replica).
  rendezvous="$(python -m tweet_sentiment.train.ddp)"   # an assignment: a failure stops the script
  eval "$rendezvous"
fi

log "dvc pull"
dvc pull --allow-missing

if [[ "${PET_NODE_RANK:-0}" != 0 ]]; then
  log "worker node $PET_NODE_RANK of $PET_NNODES: training ranks only (node 0 records and pushes the experiment)"
  dvc exp run "$@" tokenize
  if [[ "$(dvc status --json finetune)" == "{}" ]]; then
    log "finetune is up to date for these params: node 0 does not train, nothing to join"
    exit 0
  fi
  exec python -m stages.finetune
fi

log "dvc exp run -n $EXP_NAME $*"
dvc exp run -n "$EXP_NAME" "$@"
dvc metrics show --md || true
if [[ "${PUSH:-1}" == 1 ]]; then
  log "dvc exp push $GIT_REMOTE $EXP_NAME (git refs to the git remote, outputs to the DVC remote)"
  dvc exp push "$GIT_REMOTE" "$EXP_NAME"
fi
log "done: $EXP_NAME"
