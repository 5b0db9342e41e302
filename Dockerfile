# The Swarmfly peer daemon: piece server on 4000, proxy on 4001, control API on 4003.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /opt/swarmfly
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install . && useradd --system --home /var/lib/swarmfly swarmfly \
    && mkdir -p /var/lib/swarmfly /etc/swarmfly && chown swarmfly /var/lib/swarmfly
COPY dfget.yaml /etc/swarmfly/dfget.yaml

USER swarmfly
VOLUME ["/var/lib/swarmfly"]
EXPOSE 4000 4001 4003
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:4003/healthy', timeout=2)" || exit 1
STOPSIGNAL SIGTERM
ENTRYPOINT ["dfdaemon", "--config", "/etc/swarmfly/dfget.yaml"]
