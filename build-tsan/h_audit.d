build-tsan/h_audit.o: server/h_audit.c server/common.h server/handlers.h \
 server/http.h server/store.h server/crypto.h server/order.h \
 /usr/include/cjson/cJSON.h server/app.h server/config.h server/audit.h \
 server/json.h
server/common.h:
server/handlers.h:
server/http.h:
server/store.h:
server/crypto.h:
server/order.h:
/usr/include/cjson/cJSON.h:
server/app.h:
server/config.h:
server/audit.h:
server/json.h:
