; MiniGrid tasks through envs.minigrid's high-level actions (modules/planning/adapters/minigrid.py).
; The problem is built from what the agent has seen: a cell never seen is assumed clear floor
; (optimistic planning), known walls and lava are never clear, doors and keys are as last seen.
; A locked door opens only with a key of its colour in hand, and the key stays in hand.
; Cells are (row, col) pairs rather than cell objects with an adjacency relation: the relation
; would have rows*cols squared groundings, which unified-planning enumerates when it writes the
; problem, while next-row/next-col have rows squared and cols squared. Hence one action per
; direction; the adapter maps <verb>-<dir> to the environment's <dir>, open_<dir>, pickup_<dir>.
(define (domain minigrid)
  (:requirements :strips :typing)
  (:types row col color)
  (:predicates
    (at ?r - row ?c - col)
    (next-row ?r ?s - row)                 ; row ?s lies just south of row ?r
    (next-col ?c ?d - col)                 ; column ?d lies just east of column ?c
    (clear ?r - row ?c - col)              ; the agent may stand there: floor, goal, open door
    (closed ?r - row ?c - col)             ; a closed door, not locked
    (locked ?r - row ?c - col ?k - color)  ; a locked door of colour ?k
    (key ?r - row ?c - col ?k - color)     ; a key of colour ?k lies there
    (carrying ?k - color)
    (handempty))
  (:action move-north
    :parameters (?r - row ?c - col ?s - row)
    :precondition (and (at ?r ?c) (next-row ?s ?r) (clear ?s ?c))
    :effect (and (not (at ?r ?c)) (at ?s ?c)))
  (:action move-south
    :parameters (?r - row ?c - col ?s - row)
    :precondition (and (at ?r ?c) (next-row ?r ?s) (clear ?s ?c))
    :effect (and (not (at ?r ?c)) (at ?s ?c)))
  (:action move-east
    :parameters (?r - row ?c - col ?d - col)
    :precondition (and (at ?r ?c) (next-col ?c ?d) (clear ?r ?d))
    :effect (and (not (at ?r ?c)) (at ?r ?d)))
  (:action move-west
    :parameters (?r - row ?c - col ?d - col)
    :precondition (and (at ?r ?c) (next-col ?d ?c) (clear ?r ?d))
    :effect (and (not (at ?r ?c)) (at ?r ?d)))
  (:action open-north
    :parameters (?r - row ?c - col ?s - row)
    :precondition (and (at ?r ?c) (next-row ?s ?r) (closed ?s ?c))
    :effect (and (not (closed ?s ?c)) (clear ?s ?c)))
  (:action open-south
    :parameters (?r - row ?c - col ?s - row)
    :precondition (and (at ?r ?c) (next-row ?r ?s) (closed ?s ?c))
    :effect (and (not (closed ?s ?c)) (clear ?s ?c)))
  (:action open-east
    :parameters (?r - row ?c - col ?d - col)
    :precondition (and (at ?r ?c) (next-col ?c ?d) (closed ?r ?d))
    :effect (and (not (closed ?r ?d)) (clear ?r ?d)))
  (:action open-west
    :parameters (?r - row ?c - col ?d - col)
    :precondition (and (at ?r ?c) (next-col ?d ?c) (closed ?r ?d))
    :effect (and (not (closed ?r ?d)) (clear ?r ?d)))
  (:action unlock-north
    :parameters (?r - row ?c - col ?s - row ?k - color)
    :precondition (and (at ?r ?c) (next-row ?s ?r) (locked ?s ?c ?k) (carrying ?k))
    :effect (and (not (locked ?s ?c ?k)) (clear ?s ?c)))
  (:action unlock-south
    :parameters (?r - row ?c - col ?s - row ?k - color)
    :precondition (and (at ?r ?c) (next-row ?r ?s) (locked ?s ?c ?k) (carrying ?k))
    :effect (and (not (locked ?s ?c ?k)) (clear ?s ?c)))
  (:action unlock-east
    :parameters (?r - row ?c - col ?d - col ?k - color)
    :precondition (and (at ?r ?c) (next-col ?c ?d) (locked ?r ?d ?k) (carrying ?k))
    :effect (and (not (locked ?r ?d ?k)) (clear ?r ?d)))
  (:action unlock-west
    :parameters (?r - row ?c - col ?d - col ?k - color)
    :precondition (and (at ?r ?c) (next-col ?d ?c) (locked ?r ?d ?k) (carrying ?k))
    :effect (and (not (locked ?r ?d ?k)) (clear ?r ?d)))
  (:action pickup-north
    :parameters (?r - row ?c - col ?s - row ?k - color)
    :precondition (and (at ?r ?c) (next-row ?s ?r) (key ?s ?c ?k) (handempty))
    :effect (and (not (key ?s ?c ?k)) (not (handempty)) (carrying ?k) (clear ?s ?c)))
  (:action pickup-south
    :parameters (?r - row ?c - col ?s - row ?k - color)
    :precondition (and (at ?r ?c) (next-row ?r ?s) (key ?s ?c ?k) (handempty))
    :effect (and (not (key ?s ?c ?k)) (not (handempty)) (carrying ?k) (clear ?s ?c)))
  (:action pickup-east
    :parameters (?r - row ?c - col ?d - col ?k - color)
    :precondition (and (at ?r ?c) (next-col ?c ?d) (key ?r ?d ?k) (handempty))
    :effect (and (not (key ?r ?d ?k)) (not (handempty)) (carrying ?k) (clear ?r ?d)))
  (:action pickup-west
    :parameters (?r - row ?c - col ?d - col ?k - color)
    :precondition (and (at ?r ?c) (next-col ?d ?c) (key ?r ?d ?k) (handempty))
    :effect (and (not (key ?r ?d ?k)) (not (handempty)) (carrying ?k) (clear ?r ?d))))
