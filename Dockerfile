# The application image: the CLI, stream worker, review app and MLflow server.

# Build stage: the yibao wheel, with the settlement core and the feature fold
# compiled by mypyc (setup.py; about 2x the pure-Python speed, docs/settlement.md).
# The compiler stays here; the image below only gets the wheel.
FROM python:3.11-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml setup.py README.md ./
COPY settlement settlement
COPY detection detection
COPY dip dip
COPY models models
COPY streams streams
COPY review review
COPY simulator simulator
COPY yibao yibao
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
RUN apt-get update && apt-get install -y --no-install-recommends libgomp1 \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /wheels /wheels
# (the build fails if the core came out pure Python: production needs the compiled one)
# every extra (stream, models, review) and the PostgreSQL driver; the embedded broker is a
# dev extra, not here
RUN pip install --no-cache-dir "$(ls /wheels/yibao-*.whl)[all,postgres]" \
    && rm -rf /wheels \
    && python -m settlement.compiled | tee /dev/stderr | grep -q "compiled with mypyc"
RUN useradd --create-home yibao && mkdir -p /var/lib/yibao && chown yibao /var/lib/yibao
USER yibao
EXPOSE 6066 8000 5000
CMD ["yibao", "--help"]
