build-tsan/h_calls.o: server/h_calls.c server/common.h server/handlers.h \
 server/http.h server/store.h server/crypto.h server/order.h \
 /usr/include/cjson/cJSON.h server/app.h server/config.h server/json.h \
 server/limits.h server/view.h server/vnum.h
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
server/limits.h:
server/view.h:
server/vnum.h:
