build-tsan/routes.o: server/routes.c server/common.h server/handlers.h \
 server/http.h server/store.h server/crypto.h server/order.h \
 /usr/include/cjson/cJSON.h
server/common.h:
server/handlers.h:
server/http.h:
server/store.h:
server/crypto.h:
server/order.h:
/usr/include/cjson/cJSON.h:
