# VideoMeet: one image, one server (signaling + SFU), which runs coturn as its TURN server over TCP.
#   docker build -t videomeet .
#   docker run -p 3000:3000 -p 3478:3478 -p 40000-40199:40000-40199/udp -e ANNOUNCED_IP=<public ip> videomeet
# PORT is honoured (Railway sets it), and Railway's TCP proxy variables (railway.json, README).
# The same install script as the README's commands is used.
# Capacity: every participant holds 2 UDP ports of RTC_MIN_PORT..RTC_MAX_PORT, so the default range
# (200 ports) carries 100 people across all meetings; the next joiner gets `server-busy`. For more,
# publish a wider range and set RTC_MAX_PORT to match, or use --network host (README, "Docker").

FROM debian:bookworm-slim AS build
WORKDIR /src
COPY scripts/install-deps.sh scripts/install-deps.sh
RUN scripts/install-deps.sh build && rm -rf /var/lib/apt/lists/*
COPY CMakeLists.txt ./
COPY signaling signaling
COPY sfu sfu
COPY web web
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=Release -DVM_TESTS=OFF \
 && cmake --build /build -j"$(nproc)" \
 && cmake --install /build --prefix /opt/videomeet

FROM debian:bookworm-slim
COPY scripts/install-deps.sh /tmp/install-deps.sh
RUN /tmp/install-deps.sh runtime && rm -rf /var/lib/apt/lists/* /tmp/install-deps.sh \
 && useradd --system --no-create-home --shell /usr/sbin/nologin videomeet
COPY --from=build /opt/videomeet /opt/videomeet
ENV PORT=3000 \
    WEB_ROOT=/opt/videomeet/share/videomeet/web \
    RTC_MIN_PORT=40000 \
    RTC_MAX_PORT=40199 \
    TURN_PORT=3478
EXPOSE 3000/tcp 3478/tcp 40000-40199/udp
USER videomeet
CMD ["/opt/videomeet/bin/videomeet"]
