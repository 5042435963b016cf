# reconcile in a container, `reconcile watch` by default: a long-running loop that keeps a fleet
# converged with a git repository (see README "Keep a fleet converged").
#
#   docker build -t reconcile .
#   docker run --rm reconcile                      # watch's help
#   docker run --rm -e MIRU_API_KEY -v "$PWD:/fleet" reconcile /fleet --ref origin/main --apply
#
# The runtime closure is installed from action/requirements.lock (exact pins, no resolution),
# then the package itself with --no-deps, so the image runs what CI tested.

FROM python:3.11-slim AS build
WORKDIR /src
COPY action/requirements.lock /src/action/requirements.lock
RUN python -m pip install --no-cache-dir --disable-pip-version-check --prefix=/install \
      --no-deps -r action/requirements.lock
COPY pyproject.toml README.md /src/
COPY reconciler /src/reconciler
COPY schemas /src/schemas
RUN python -m pip wheel --no-cache-dir --disable-pip-version-check --no-deps --wheel-dir /wheels . \
 && python -m pip install --no-cache-dir --disable-pip-version-check --prefix=/install --no-deps /wheels/*.whl

FROM python:3.11-slim
# git: `watch --ref origin/main` fetches the fleet repository each round.
RUN apt-get update \
 && apt-get install -y --no-install-recommends git ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --create-home --uid 10001 reconcile
COPY --from=build /install /usr/local
USER reconcile
WORKDIR /fleet
# A mounted repository belongs to another uid: let git read it anyway.
RUN git config --global --add safe.directory '*'
ENV PYTHONUNBUFFERED=1
# SIGTERM (docker stop) ends watch between writes: no device is left half-applied.
STOPSIGNAL SIGTERM
ENTRYPOINT ["reconcile", "watch"]
CMD ["--help"]
