build-tsan/h_common.o: server/h_common.c server/common.h \
 server/handlers.h server/http.h server/store.h server/crypto.h \
 server/order.h /usr/include/cjson/cJSON.h server/app.h server/config.h \
 server/json.h server/view.h
server/common.h:
server/handlers.h:
server/http.h:
server/store.h:
server/crypto.h:
server/order.h:
/usr/include/cjson/cJSON.h:
server/app.h:
server/config.h:
server/json.h:
server/view.h:
