build-tsan/h_health.o: server/h_health.c server/common.h \
 server/handlers.h server/http.h server/store.h server/crypto.h \
 server/order.h /usr/include/cjson/cJSON.h server/app.h server/config.h
server/common.h:
server/handlers.h:
server/http.h:
server/store.h:
server/crypto.h:
server/order.h:
/usr/include/cjson/cJSON.h:
server/app.h:
server/config.h:
