build-tsan/h_orders.o: server/h_orders.c server/common.h \
 server/handlers.h server/http.h server/store.h server/crypto.h \
 server/order.h /usr/include/cjson/cJSON.h server/app.h server/config.h \
 server/json.h server/log.h server/mask.h server/view.h
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
server/log.h:
server/mask.h:
server/view.h:
