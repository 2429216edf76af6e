# The application image: the CLI, stream worker, review app and MLflow server.
# Every Python package comes from requirements/*.lock, checked against its hashes
# (docs/dependencies.md; `make lock` refreshes them).

# The Python that CI tests with (3.11.7), on Debian bookworm, by exact tag. Where the
# registry can be reached, pin it by digest as well: `docker buildx imagetools inspect
# python:3.11.7-slim-bookworm` prints it, then build with
# --build-arg PYTHON_IMAGE=python:3.11.7-slim-bookworm@sha256:<digest> (or write it here).
ARG PYTHON_IMAGE=python:3.11.7-slim-bookworm

# Build stage: the yibao wheel, with the settlement core and the feature fold
# compiled by mypyc (setup.py; about 2x the pure-Python speed, docs/settlement.md).
# The compiler stays here; the image below only gets the wheel.
FROM ${PYTHON_IMAGE} AS build
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# The build requirements (setuptools, mypy for mypyc, orjson, msgspec), locked: the wheel is
# built without isolation from these rather than whatever is newest on the day.
COPY requirements/build.lock requirements/build.lock
RUN pip install --no-cache-dir --require-hashes --no-deps -r requirements/build.lock
COPY pyproject.toml setup.py README.md ./
COPY settlement settlement
COPY detection detection
COPY dip dip
COPY models models
COPY streams streams
COPY review review
COPY simulator simulator
COPY yibao yibao
RUN pip wheel --no-cache-dir --no-deps --no-build-isolation --wheel-dir /wheels .

FROM ${PYTHON_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
RUN apt-get update && apt-get install -y --no-install-recommends libgomp1 \
    && rm -rf /var/lib/apt/lists/*
# Every extra (stream, models, cluster, review) and the PostgreSQL driver, exactly as locked in
# requirements/runtime.lock; the embedded broker is a dev extra, not here. Installed
# before the wheel so this layer is reused while only yibao's code changes.
COPY requirements/runtime.lock /tmp/runtime.lock
RUN pip install --no-cache-dir --require-hashes --no-deps -r /tmp/runtime.lock \
    && rm /tmp/runtime.lock
COPY --from=build /wheels /wheels
# (the build fails if the core came out pure Python: production needs the compiled one,
# or if the lock misses a requirement of yibao's: pip check)
RUN pip install --no-cache-dir --no-deps /wheels/yibao-*.whl \
    && rm -rf /wheels \
    && pip check \
    && python -m settlement.compiled | tee /dev/stderr | grep -q "compiled with mypyc"
RUN useradd --create-home yibao && mkdir -p /var/lib/yibao && chown yibao /var/lib/yibao
USER yibao
EXPOSE 6066 8000 5000
CMD ["yibao", "--help"]
