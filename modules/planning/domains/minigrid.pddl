; MiniGrid and BabyAI tasks through envs.minigrid's high-level actions
; (modules/planning/adapters/minigrid.py builds the problems and maps plan steps to actions).
; The problem is built from what the agent has seen: a cell never seen is assumed clear floor
; (optimistic planning), known walls, lava and hazards are never clear, doors and objects are as
; last seen. Cells are (row, col) pairs rather than cell objects with an adjacency relation: the
; relation would have rows*cols squared groundings, which unified-planning enumerates when it
; writes a problem, while next-row/next-col have rows squared and cols squared. Hence one action
; per direction, acting on the cell beside the agent that way (the agent turns to face it):
;   move-<dir>    step onto a clear cell
;   open-<dir>    open a closed door (never closes one)
;   unlock-<dir>  open a locked door, holding a key of its colour (the key stays in hand)
;   pickup-<dir>  pick up a key, ball or box (one thing in hand at a time)
;   drop-<dir>    put what is in hand on an empty floor cell
;   face-<dir>    turn to face that cell (a goal of "go to X" is to face X)
;   openbox-<dir> open a box: it is gone, and what it held (maybe a key) shows in the next percept
;   done-<dir>    say "done" while facing that cell (MiniGrid's GoToDoor and GoToObject reward
;                 the done action next to their target)
; Goals: (at r c) for the goal square, (clear r c) for an opened door, (holding t k) for a
; picked-up object, (thing r c t k) for an object put down next to another, (announced r c)
; for "go to" (BabyAI's go-to is met on facing the object, before the done).
(define (domain minigrid)
  (:requirements :strips :typing)
  (:types row col color kind)
  (:constants key ball box - kind)
  (:predicates
    (at ?r - row ?c - col)
    (next-row ?r ?s - row)                 ; row ?s lies just south of row ?r
    (next-col ?c ?d - col)                 ; column ?d lies just east of column ?c
    (clear ?r - row ?c - col)              ; the agent may stand there: floor, goal, open door
    (floor ?r - row ?c - col)              ; clear and empty: something can be put down there
    (closed ?r - row ?c - col)             ; a closed door, not locked
    (locked ?r - row ?c - col ?k - color)  ; a locked door of colour ?k
    (thing ?r - row ?c - col ?t - kind ?k - color)  ; a key, ball or box lies there
    (holding ?t - kind ?k - color)
    (handempty)
    (faced ?r - row ?c - col)
    (unboxed ?r - row ?c - col)            ; a box was opened there
    (announced ?r - row ?c - col))
  (:action move-north
    :parameters (?r - row ?c - col ?s - row)
    :precondition (and (at ?r ?c) (next-row ?s ?r) (clear ?s ?c))
    :effect (and (not (at ?r ?c)) (at ?s ?c)))
  (:action open-north
    :parameters (?r - row ?c - col ?s - row)
    :precondition (and (at ?r ?c) (next-row ?s ?r) (closed ?s ?c))
    :effect (and (not (closed ?s ?c)) (clear ?s ?c)))
  (:action unlock-north
    :parameters (?r - row ?c - col ?s - row ?k - color)
    :precondition (and (at ?r ?c) (next-row ?s ?r) (locked ?s ?c ?k) (holding key ?k))
    :effect (and (not (locked ?s ?c ?k)) (clear ?s ?c)))
  (:action pickup-north
    :parameters (?r - row ?c - col ?s - row ?t - kind ?k - color)
    :precondition (and (at ?r ?c) (next-row ?s ?r) (thing ?s ?c ?t ?k) (handempty))
    :effect (and (not (thing ?s ?c ?t ?k)) (not (handempty)) (holding ?t ?k)
                 (clear ?s ?c) (floor ?s ?c)))
  (:action drop-north
    :parameters (?r - row ?c - col ?s - row ?t - kind ?k - color)
    :precondition (and (at ?r ?c) (next-row ?s ?r) (floor ?s ?c) (holding ?t ?k))
    :effect (and (thing ?s ?c ?t ?k) (not (holding ?t ?k)) (handempty)
                 (not (clear ?s ?c)) (not (floor ?s ?c))))
  (:action openbox-north
    :parameters (?r - row ?c - col ?s - row ?k - color)
    :precondition (and (at ?r ?c) (next-row ?s ?r) (thing ?s ?c box ?k))
    :effect (and (not (thing ?s ?c box ?k)) (unboxed ?s ?c)))
  (:action face-north
    :parameters (?r - row ?c - col ?s - row)
    :precondition (and (at ?r ?c) (next-row ?s ?r))
    :effect (faced ?s ?c))
  (:action done-north
    :parameters (?r - row ?c - col ?s - row)
    :precondition (and (at ?r ?c) (next-row ?s ?r) (faced ?s ?c))
    :effect (announced ?s ?c))
  (:action move-south
    :parameters (?r - row ?c - col ?s - row)
    :precondition (and (at ?r ?c) (next-row ?r ?s) (clear ?s ?c))
    :effect (and (not (at ?r ?c)) (at ?s ?c)))
  (:action open-south
    :parameters (?r - row ?c - col ?s - row)
    :precondition (and (at ?r ?c) (next-row ?r ?s) (closed ?s ?c))
    :effect (and (not (closed ?s ?c)) (clear ?s ?c)))
  (:action unlock-south
    :parameters (?r - row ?c - col ?s - row ?k - color)
    :precondition (and (at ?r ?c) (next-row ?r ?s) (locked ?s ?c ?k) (holding key ?k))
    :effect (and (not (locked ?s ?c ?k)) (clear ?s ?c)))
  (:action pickup-south
    :parameters (?r - row ?c - col ?s - row ?t - kind ?k - color)
    :precondition (and (at ?r ?c) (next-row ?r ?s) (thing ?s ?c ?t ?k) (handempty))
    :effect (and (not (thing ?s ?c ?t ?k)) (not (handempty)) (holding ?t ?k)
                 (clear ?s ?c) (floor ?s ?c)))
  (:action drop-south
    :parameters (?r - row ?c - col ?s - row ?t - kind ?k - color)
    :precondition (and (at ?r ?c) (next-row ?r ?s) (floor ?s ?c) (holding ?t ?k))
    :effect (and (thing ?s ?c ?t ?k) (not (holding ?t ?k)) (handempty)
                 (not (clear ?s ?c)) (not (floor ?s ?c))))
  (:action openbox-south
    :parameters (?r - row ?c - col ?s - row ?k - color)
    :precondition (and (at ?r ?c) (next-row ?r ?s) (thing ?s ?c box ?k))
    :effect (and (not (thing ?s ?c box ?k)) (unboxed ?s ?c)))
  (:action face-south
    :parameters (?r - row ?c - col ?s - row)
    :precondition (and (at ?r ?c) (next-row ?r ?s))
    :effect (faced ?s ?c))
  (:action done-south
    :parameters (?r - row ?c - col ?s - row)
    :precondition (and (at ?r ?c) (next-row ?r ?s) (faced ?s ?c))
    :effect (announced ?s ?c))
  (:action move-east
    :parameters (?r - row ?c - col ?d - col)
    :precondition (and (at ?r ?c) (next-col ?c ?d) (clear ?r ?d))
    :effect (and (not (at ?r ?c)) (at ?r ?d)))
  (:action open-east
    :parameters (?r - row ?c - col ?d - col)
    :precondition (and (at ?r ?c) (next-col ?c ?d) (closed ?r ?d))
    :effect (and (not (closed ?r ?d)) (clear ?r ?d)))
  (:action unlock-east
    :parameters (?r - row ?c - col ?d - col ?k - color)
    :precondition (and (at ?r ?c) (next-col ?c ?d) (locked ?r ?d ?k) (holding key ?k))
    :effect (and (not (locked ?r ?d ?k)) (clear ?r ?d)))
  (:action pickup-east
    :parameters (?r - row ?c - col ?d - col ?t - kind ?k - color)
    :precondition (and (at ?r ?c) (next-col ?c ?d) (thing ?r ?d ?t ?k) (handempty))
    :effect (and (not (thing ?r ?d ?t ?k)) (not (handempty)) (holding ?t ?k)
                 (clear ?r ?d) (floor ?r ?d)))
  (:action drop-east
    :parameters (?r - row ?c - col ?d - col ?t - kind ?k - color)
    :precondition (and (at ?r ?c) (next-col ?c ?d) (floor ?r ?d) (holding ?t ?k))
    :effect (and (thing ?r ?d ?t ?k) (not (holding ?t ?k)) (handempty)
                 (not (clear ?r ?d)) (not (floor ?r ?d))))
  (:action openbox-east
    :parameters (?r - row ?c - col ?d - col ?k - color)
    :precondition (and (at ?r ?c) (next-col ?c ?d) (thing ?r ?d box ?k))
    :effect (and (not (thing ?r ?d box ?k)) (unboxed ?r ?d)))
  (:action face-east
    :parameters (?r - row ?c - col ?d - col)
    :precondition (and (at ?r ?c) (next-col ?c ?d))
    :effect (faced ?r ?d))
  (:action done-east
    :parameters (?r - row ?c - col ?d - col)
    :precondition (and (at ?r ?c) (next-col ?c ?d) (faced ?r ?d))
    :effect (announced ?r ?d))
  (:action move-west
    :parameters (?r - row ?c - col ?d - col)
    :precondition (and (at ?r ?c) (next-col ?d ?c) (clear ?r ?d))
    :effect (and (not (at ?r ?c)) (at ?r ?d)))
  (:action open-west
    :parameters (?r - row ?c - col ?d - col)
    :precondition (and (at ?r ?c) (next-col ?d ?c) (closed ?r ?d))
    :effect (and (not (closed ?r ?d)) (clear ?r ?d)))
  (:action unlock-west
    :parameters (?r - row ?c - col ?d - col ?k - color)
    :precondition (and (at ?r ?c) (next-col ?d ?c) (locked ?r ?d ?k) (holding key ?k))
    :effect (and (not (locked ?r ?d ?k)) (clear ?r ?d)))
  (:action pickup-west
    :parameters (?r - row ?c - col ?d - col ?t - kind ?k - color)
    :precondition (and (at ?r ?c) (next-col ?d ?c) (thing ?r ?d ?t ?k) (handempty))
    :effect (and (not (thing ?r ?d ?t ?k)) (not (handempty)) (holding ?t ?k)
                 (clear ?r ?d) (floor ?r ?d)))
  (:action drop-west
    :parameters (?r - row ?c - col ?d - col ?t - kind ?k - color)
    :precondition (and (at ?r ?c) (next-col ?d ?c) (floor ?r ?d) (holding ?t ?k))
    :effect (and (thing ?r ?d ?t ?k) (not (holding ?t ?k)) (handempty)
                 (not (clear ?r ?d)) (not (floor ?r ?d))))
  (:action openbox-west
    :parameters (?r - row ?c - col ?d - col ?k - color)
    :precondition (and (at ?r ?c) (next-col ?d ?c) (thing ?r ?d box ?k))
    :effect (and (not (thing ?r ?d box ?k)) (unboxed ?r ?d)))
  (:action face-west
    :parameters (?r - row ?c - col ?d - col)
    :precondition (and (at ?r ?c) (next-col ?d ?c))
    :effect (faced ?r ?d))
  (:action done-west
    :parameters (?r - row ?c - col ?d - col)
    :precondition (and (at ?r ?c) (next-col ?d ?c) (faced ?r ?d))
    :effect (announced ?r ?d)))
